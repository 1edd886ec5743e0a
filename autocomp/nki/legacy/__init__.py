"""The legacy dialect (``neuronxcc.nki``): the modules ``autocomp.nki.install`` registers under those names."""
