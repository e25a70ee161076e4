"""Run files (HDF5), mzML/mzMLb in and out, and conversions between them."""
