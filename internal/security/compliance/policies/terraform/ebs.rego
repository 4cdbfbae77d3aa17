package vigil.controls.tf_ebs_encryption

import data.vigil.lib

metadata := {
	"id": "VGL-TF-004",
	"title": "EBS volumes must be encrypted",
	"severity": "high",
	"rationale": "Unencrypted volumes and their snapshots expose node and persistent-volume data to anyone who can copy them.",
	"remediation": "Set encrypted = true (and kms_key_id), or enable aws_ebs_encryption_by_default in the account.",
	"targets": ["terraform"],
	"cis": [],
	"ciseks": [],
	"nsa": ["Network separation and hardening: encryption"],
	"pss": "",
}

# Each entry: the block holding "encrypted" and its path.
volumes contains [input.body, ""] if {
	input.block == "resource"
	input.type == "aws_ebs_volume"
}

volumes contains [b, sprintf("%s[%d]", [kind, i])] if {
	input.block == "resource"
	input.type == "aws_instance"
	some kind in ["root_block_device", "ebs_block_device"]
	some i, b in input.body[kind]
}

volumes contains [e, sprintf("block_device_mappings[%d].ebs[%d]", [i, j])] if {
	input.block == "resource"
	input.type == "aws_launch_template"
	some i, m in input.body.block_device_mappings
	some j, e in m.ebs
}

join(prefix, attr) := attr if prefix == ""
else := sprintf("%s.%s", [prefix, attr])

deny contains {"msg": sprintf("%s.%s: EBS volume is not encrypted (encrypted = false)", [input.type, input.name]), "path": join(p, "encrypted")} if {
	some [b, p] in volumes
	b.encrypted == false
}

deny contains {"msg": sprintf("%s.%s: EBS volume does not set encrypted = true", [input.type, input.name]), "path": p} if {
	some [b, p] in volumes
	not "encrypted" in object.keys(b)
}

unknown contains {"msg": sprintf("EBS encryption depends on %s", [b.encrypted["$unknown"]]), "path": join(p, "encrypted")} if {
	some [b, p] in volumes
	lib.is_unknown(b.encrypted)
}

default applies := false

applies if count(volumes) > 0
