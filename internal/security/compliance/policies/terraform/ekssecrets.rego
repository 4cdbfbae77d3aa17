package vigil.controls.tf_eks_secrets_encryption

metadata := {
	"id": "VGL-TF-006",
	"title": "EKS clusters should encrypt Kubernetes secrets with a KMS key",
	"severity": "medium",
	"rationale": "Envelope encryption keeps secrets unreadable in etcd backups and snapshots.",
	"remediation": "Add an encryption_config block with resources = [\"secrets\"] and a KMS key ARN.",
	"targets": ["terraform"],
	"cis": [],
	"ciseks": ["5.3.1"],
	"nsa": ["Network separation and hardening: encryption"],
	"pss": "",
}

deny contains {"msg": "aws_eks_cluster has no encryption_config for secrets", "path": ""} if {
	input.block == "resource"
	input.type == "aws_eks_cluster"
	not input.body.encryption_config
}

default applies := false

applies if {
	input.block == "resource"
	input.type == "aws_eks_cluster"
}
