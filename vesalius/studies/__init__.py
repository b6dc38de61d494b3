"""Studies: the DICOM hierarchy (patients → studies → series → instances) over the images."""
