"""The parts `qops.Inspector` is built from: argument checks, decoding, stats, reads, writes."""
