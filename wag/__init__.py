"""wag: concept frequency vs multimodal model performance (Udandarao, Prabhu et al., NeurIPS 2024)."""

__version__ = "0.1.0"
