package vigil.controls.kubelet_file_ownership

metadata := {
	"id": "VGL-NODE-002",
	"title": "Kubelet configuration and credential files must be owned by root:root",
	"severity": "medium",
	"rationale": "A non-root owner can rewrite the kubelet's configuration or credentials.",
	"remediation": "chown root:root the file on the node.",
	"targets": ["node"],
	"cis": ["4.1.6", "4.1.8", "4.1.10"],
	"nsa": ["Network separation and hardening: control plane hardening"],
	"pss": "",
}

deny contains {"msg": sprintf("%s (%s) is owned by %d:%d, want root:root", [f.path, f.role, f.uid, f.gid]), "path": sprintf("files[%d].owner", [i])} if {
	some i, f in input.files
	not [f.uid, f.gid] == [0, 0]
}
