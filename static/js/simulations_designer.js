/* Scenario page: check the design while it is being edited.
 *
 * Progressive enhancement: the form posts and the server validates without JavaScript. With it,
 * a pause in typing first checks the JSON syntax here, then asks the API to check the design
 * against the scenario (nothing is stored or run), and lists each problem with its pointer. */
(function () {
  "use strict";
  var form = document.getElementById("designer-form");
  if (!form) return;
  var textarea = form.querySelector("textarea");
  var output = document.getElementById("design-check");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
  var timer = null;
  var latest = 0;

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
      show("bad", "Not valid JSON yet: " + error.message);
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
        } else if (result.problems) {
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
