"""Why a network answers as it does: receptive fields, attributions (Captum) and what-if sweeps."""
