"""Lay out a design document as a left-to-right architecture diagram (pure: no ORM, no I/O).

:func:`design_diagram` is the only layout code in Loadline: the server renders its result as an
inline SVG (``simulations/_design_diagram.html``), and the designer page redraws the same data
from the check-design API in JavaScript, so the browser never lays anything out itself.

Columns follow depth along the routes (clients → load balancer → app → cache → database …);
every consecutive hop of a route is an edge, labelled with the request classes that travel it
and badges for its call policies.
"""

from simulations.diagram.layout import CLIENTS_ID, DiagramError, design_diagram

__all__ = ["CLIENTS_ID", "DiagramError", "design_diagram"]
