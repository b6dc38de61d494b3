"""Receiving files: streaming multipart uploads straight to storage, checking each file, and
handing accepted ones to the imaging pipeline."""
