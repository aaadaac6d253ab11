"""Names and limits shared by the schema tables: request classes, sizes, zones, horizons."""

REQUEST_CLASSES = ("read", "write", "async_job", "static", "realtime", "ingest")
SIZES = ("small", "medium", "large", "xlarge")
PERCENTILES = (50, 90, 95, 99, 99.9)
ZONES = ("a", "b", "c")

MAX_DURATION_S = 86_400.0  # one simulated day
MAX_TICKS = 86_400
