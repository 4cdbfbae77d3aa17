package vigil.controls.kubelet_file_permissions

metadata := {
	"id": "VGL-NODE-001",
	"title": "Kubelet configuration and credential files must be mode 600 or stricter",
	"severity": "high",
	"rationale": "Anyone who can change the kubelet's configuration or read its kubeconfig can take over the node and its pods.",
	"remediation": "chmod 600 the file on the node (kubelet config, kubelet kubeconfig, client CA file).",
	"targets": ["node"],
	"cis": ["4.1.5", "4.1.7", "4.1.9"],
	"nsa": ["Network separation and hardening: control plane hardening"],
	"pss": "",
}

deny contains {"msg": sprintf("%s (%s) has mode %o, want 600 or stricter", [f.path, f.role, f.mode]), "path": sprintf("files[%d].mode", [i])} if {
	some i, f in input.files
	bits.and(f.mode, 127) != 0
}
