"""The UI's routes, one module per area; every route passes the guard in ``ferry.ui.app``."""
