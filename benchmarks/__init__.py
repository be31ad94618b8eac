"""Side-by-side benchmarks of qops and other Python task queues; see README.md here."""
