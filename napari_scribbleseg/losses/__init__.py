"""Losses of the scribble-supervised methods.

Conventions (as in MONAI): configuration in keyword arguments, tensors in the call, shapes in the
docstring. Targets use the training encoding of :mod:`napari_scribbleseg.labels`: class indices with
:data:`~napari_scribbleseg.labels.IGNORE` on pixels without annotation.

========================  =========================================================  ================
module                    losses                                                     paper
========================  =========================================================  ================
``partial_ce``            partial CE, weighted partial CE (WPCE)                     003 Eq. 1, 001 Eq. 1
``adversarial``           least-squares GAN losses                                   001 Eq. 2
``crf``                   masked CRF loss                                            003 Eq. 3-5
``attentive_similarity``  attentive similarity loss, similarity and distance decay   003 Eq. 6
``size``                  size-constraint penalty                                    004 Eq. 2-3
``dice``                  soft Dice, class-weighted Dice                             002 Eq. 2
========================  =========================================================  ================
"""

from .adversarial import lsgan_discriminator_loss, lsgan_discriminator_loss_targets, lsgan_generator_loss
from .attentive_similarity import attentive_similarity, attentive_similarity_loss, distance_decay_map
from .crf import masked_crf_loss
from .dice import class_weighted_dice_loss, soft_dice_loss
from .partial_ce import partial_cross_entropy, weighted_partial_cross_entropy, wpce_weights
from .size import size_constraint_loss, size_penalty

__all__ = [
    "attentive_similarity",
    "attentive_similarity_loss",
    "class_weighted_dice_loss",
    "distance_decay_map",
    "lsgan_discriminator_loss",
    "lsgan_discriminator_loss_targets",
    "lsgan_generator_loss",
    "masked_crf_loss",
    "partial_cross_entropy",
    "size_constraint_loss",
    "size_penalty",
    "soft_dice_loss",
    "weighted_partial_cross_entropy",
    "wpce_weights",
]
