/* Scenario page: check the design while it is being edited, and redraw its diagram.
 *
 * Progressive enhancement: the form posts and the server validates without JavaScript. With it,
 * a pause in typing first checks the JSON syntax here, then asks the API to check the design
 * against the scenario (nothing is stored or run), and lists each problem with its pointer.
 * A valid design comes back laid out (simulations.diagram): this script only draws that data,
 * with the same markup as simulations/_design_diagram.html; while the text is not a valid
 * design, the last good drawing stays, greyed, with a note. */
(function () {
  "use strict";
  var form = document.getElementById("designer-form");
  if (!form) return;
  var textarea = form.querySelector("textarea");
  var output = document.getElementById("design-check");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
  var timer = null;
  var latest = 0;
  var figure = document.getElementById("design-diagram");
  var SVG = "http://www.w3.org/2000/svg";

  function svg(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function drawDiagram(diagram) {
    var id = figure.id;
    var root = svg("svg", {
      class: "diagram-svg", role: "img", "aria-labelledby": id + "-title " + id + "-desc",
      viewBox: "0 0 " + diagram.width + " " + diagram.height,
      width: diagram.width, height: diagram.height, style: "--diagram-width: " + diagram.width
    });
    root.appendChild(svg("title", { id: id + "-title" }, diagram.title));
    root.appendChild(svg("desc", { id: id + "-desc" }, diagram.summary.join(" ")));
    var marker = svg("marker", {
      id: id + "-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse"
    });
    marker.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "diagram-arrowhead" }));
    root.appendChild(svg("defs")).appendChild(marker);
    diagram.edges.forEach(function (edge) {
      var g = svg("g", { class: "diagram-edge " + edge.kind, "data-source": edge.source, "data-target": edge.target });
      g.appendChild(svg("polyline", {
        points: edge.points.map(function (p) { return p[0] + "," + p[1]; }).join(" "),
        "marker-end": "url(#" + id + "-arrow)"
      }));
      g.appendChild(svg("text", { class: "edge-label", x: edge.label_x, y: edge.label_y, "text-anchor": "middle" }, edge.label));
      edge.badges.forEach(function (badge) {
        g.appendChild(svg("rect", { class: "edge-badge", x: badge.box_x, y: badge.box_y, width: badge.box_width, height: badge.box_height, rx: 7 }));
        g.appendChild(svg("text", { class: "edge-badge-text", x: badge.x, y: badge.y, "text-anchor": "middle" }, badge.text));
      });
      root.appendChild(g);
    });
    diagram.nodes.forEach(function (node) {
      var classes = ["diagram-node", node.type];
      if (node.load) classes.push("load-" + node.load);
      if (!node.on_route) classes.push("off-route");
      var g = svg("g", { class: classes.join(" "), "data-component": node.id, transform: "translate(" + node.x + " " + node.y + ")" });
      g.appendChild(svg("rect", { width: node.width, height: node.height, rx: 8 }));
      node.lines.forEach(function (line) {
        g.appendChild(svg("text", { class: "node-" + line.style, x: 10, y: line.y }, line.text));
      });
      root.appendChild(g);
    });
    var scroller = figure.querySelector(".diagram-scroll");
    scroller.textContent = "";
    scroller.appendChild(root);
    var words = figure.querySelector(".diagram-words");
    var list = words.querySelector("ul");
    list.textContent = "";
    diagram.summary.forEach(function (sentence) {
      list.appendChild(document.createElement("li")).textContent = sentence;
    });
    words.hidden = false;
    figure.classList.remove("stale");
    figure.querySelector(".diagram-note").textContent = "";
  }

  function staleDiagram(reason) {
    if (!figure) return;
    var drawn = figure.querySelector("svg");
    figure.classList.toggle("stale", Boolean(drawn));
    figure.querySelector(".diagram-note").textContent = drawn
      ? "Showing the last valid design: " + reason
      : "The diagram returns once the engine can run the design.";
  }

  function show(state, title, problems) {
    output.className = "design-check " + state;
    output.textContent = "";
    var p = document.createElement("p");
    p.textContent = title;
    output.appendChild(p);
    if (!problems || !problems.length) return;
    var list = document.createElement("ul");
    problems.forEach(function (problem) {
      var item = document.createElement("li");
      var code = document.createElement("code");
      code.textContent = problem.pointer || "/";
      item.appendChild(code);
      item.appendChild(document.createTextNode(" — " + problem.message));
      list.appendChild(item);
    });
    output.appendChild(list);
  }

  function check() {
    var design;
    try {
      design = JSON.parse(textarea.value);
    } catch (error) {
      latest++; // an answer still on its way is about older text: ignore it
      show("bad", "Not valid JSON yet: " + error.message);
      staleDiagram("the text is not valid JSON yet.");
      return;
    }
    var ticket = ++latest;
    fetch(form.dataset.checkUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf.value },
      body: JSON.stringify({ design: design })
    })
      .then(function (response) { return response.json(); })
      .then(function (result) {
        if (ticket !== latest) return; // an older answer arriving late
        if (result.valid) {
          show("ok", "The engine can run this design.");
          if (figure && result.diagram) drawDiagram(result.diagram);
          return;
        }
        staleDiagram("the engine cannot run the edited design yet.");
        if (result.problems) {
          show("bad", "The engine cannot run this design yet:", result.problems);
        } else {
          show("bad", "The engine cannot run this design yet:", result.design || []);
        }
      })
      .catch(function () { output.textContent = ""; }); // the server checks again on submit
  }

  textarea.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 600);
  });
})();
