"""Independent ground truth for the engine: closed-form queueing results and a SimPy
discrete-event simulation. Test-only; shares no code with ``simulations.engine``."""
