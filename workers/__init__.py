"""RQ workers: queue names, job functions (thin: load by id, call eta.*), and the worker runner."""
