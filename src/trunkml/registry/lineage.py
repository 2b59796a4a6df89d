"""Names of the lineage tags trunkml writes on runs and model versions.

They are the contract between training (which writes them) and everything that
reads a version's history (models show, the gate, promotion): one place to look.
"""

from __future__ import annotations

PREFIX = "trunkml."
GIT_SHA = "trunkml.git_sha"
GIT_DIRTY = "trunkml.git_dirty"
GIT_BRANCH = "trunkml.git_branch"
GIT_AUTHOR = "trunkml.git_author"
JOB = "trunkml.job"
JOB_HASH = "trunkml.job_hash"
ENV_HASH = "trunkml.env_hash"
CT_KEY = "trunkml.ct_key"
KIND = "trunkml.kind"
DATASETS = "trunkml.datasets"
SPLIT = "trunkml.split"
MODEL_DIGEST = "trunkml.model_digest"
ARTIFACT_DIGESTS = "trunkml.artifact_digests"
ENVIRONMENT = "trunkml.environment"
PROFILE_SHA256 = "trunkml.profile_sha256"
CLASSES = "trunkml.classes"  # JSON list: the names of class 0 and class 1 (or 0..K-1), from the training pointer
TASK = "trunkml.task"  # binary, multiclass or regression: what the version's answers are
TRIVIAL = "trunkml.trivial"  # JSON: the trivial model's answer (training majority class index, or training mean)
TRAINED_AT = "trunkml.trained_at"  # epoch milliseconds of the training run; copies keep it
PROFILE_ARTIFACT = "monitoring/profile.json"

KIND_CT = "ct"
KIND_EXPERIMENT = "experiment"
NO_GIT = "none"
GATE_SUMMARY = "trunkml.gate.summary"
APPROVAL_PREFIX = "trunkml.approval."
