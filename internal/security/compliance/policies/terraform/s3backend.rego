package vigil.controls.tf_s3_backend_encryption

import data.vigil.lib

metadata := {
	"id": "VGL-TF-001",
	"title": "The Terraform S3 state backend must encrypt the state",
	"severity": "high",
	"rationale": "Terraform state holds every secret the configuration touches (database passwords, keys) in clear text.",
	"remediation": "Set encrypt = true (and kms_key_id) in the backend \"s3\" block, and enable default encryption on the bucket.",
	"targets": ["terraform"],
	"cis": [],
	"ciseks": [],
	"nsa": ["Network separation and hardening: encryption"],
	"pss": "",
}

s3 if {
	input.block == "backend"
	input.type == "s3"
}

deny contains {"msg": "S3 backend stores the state unencrypted (encrypt = false)", "path": "encrypt"} if {
	s3
	input.body.encrypt == false
}

deny contains {"msg": "S3 backend does not set encrypt = true (the default is unencrypted)", "path": ""} if {
	s3
	not "encrypt" in object.keys(input.body)
}

unknown contains {"msg": sprintf("S3 backend encryption depends on %s", [input.body.encrypt["$unknown"]]), "path": "encrypt"} if {
	s3
	lib.is_unknown(input.body.encrypt)
}

default applies := false

applies if s3
