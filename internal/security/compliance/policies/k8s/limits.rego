package vigil.controls.resource_limits

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-012",
	"title": "Containers must set CPU and memory limits",
	"severity": "medium",
	"rationale": "Without limits one container can starve the node and its neighbours (denial of service, noisy miners).",
	"remediation": "Set resources.limits.cpu and resources.limits.memory on every container, or a LimitRange in the namespace.",
	"targets": ["workload"],
	"cis": [],
	"nsa": ["Network separation and hardening: resource policies"],
	"pss": "",
}

deny contains {"msg": sprintf("container %q has no %s limit", [x.c.name, r]), "path": sprintf("%s.resources.limits.%s", [x.path, r])} if {
	some x in lib.app_containers
	some r in ["cpu", "memory"]
	not x.c.resources.limits[r]
}
