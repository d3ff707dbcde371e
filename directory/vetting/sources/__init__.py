"""Where checks come from: each source in its own module, all of them listed in ``registry``."""
