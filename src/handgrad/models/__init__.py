"""Models of the course, one file per family: ``classic`` (softmax regression, MLP, LeNet) and,
beside it, the generative models. ``build_model(name)`` makes the command line's models by name."""

from .classic import MODELS, LeNet, build_model, mlp, softmax_regression  # noqa: F401

__all__ = ["LeNet", "build_model", "mlp", "softmax_regression", "MODELS"]
from .autoencoder import Autoencoder, conv_autoencoder, fit_autoencoder, mlp_autoencoder  # noqa: F401,E402
from .vae import VAE, evaluate_elbo, fit_vae  # noqa: F401,E402
