"""The files of one Neuron Explorer capture, as the hw backend's measuring half stages them and the run store keeps
them (autocomp/store/device_profiles.py; docs/evaluation.md#device-profiles-in-the-run)."""

STAGED_MARKER = ".autocomp-device-profile"  # a staging directory the backend made (the store moves nothing else)
NEFF_FILE = "kernel.neff"  # the NEFF the capture ran: Neuron Explorer cannot process an NTFF without it
NTFF_FILE = "profile.ntff"
SUMMARY_FILE = "summary.json"  # `neuron-explorer view --output-format summary-json`, as printed
PROFILE_FILES = (NEFF_FILE, NTFF_FILE, SUMMARY_FILE)
