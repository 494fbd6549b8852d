"""Generated modules: each file here is written by ``tito export`` from its source in modules/source."""
