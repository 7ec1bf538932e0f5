"""The barrier (encryption of everything stored) and the seal that guards its root key."""

from strongroom.barrier.barrier import (
    AlreadyInitializedError,
    Barrier,
    CorruptValueError,
    InvalidKeyError,
    NotInitializedError,
    SealedError,
)
from strongroom.barrier.seal import SealConfig, SealConfigError, ShamirSeal

__all__ = [
    "AlreadyInitializedError",
    "Barrier",
    "CorruptValueError",
    "InvalidKeyError",
    "NotInitializedError",
    "SealConfig",
    "SealConfigError",
    "SealedError",
    "ShamirSeal",
]
