"""HTML -> main-content text: the engines, and the killable worker process that runs them."""
