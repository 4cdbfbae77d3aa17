package vigil.controls.host_path

metadata := {
	"id": "VGL-K8S-010",
	"title": "Pods must not mount host paths",
	"severity": "high",
	"rationale": "A hostPath volume exposes the node's file system: container runtime sockets, kubelet credentials, /etc.",
	"remediation": "Replace hostPath volumes with emptyDir, a ConfigMap/Secret or a PersistentVolumeClaim.",
	"targets": ["workload"],
	"cis": ["5.2.12"],
	"nsa": ["Pod security: hardening container environments"],
	"pss": "baseline",
}

deny contains {"msg": sprintf("volume %q mounts host path %s", [v.name, object.get(v.hostPath, "path", "")]), "path": sprintf("%s.volumes[%d].hostPath", [input.specPath, i])} if {
	some i, v in input.spec.volumes
	v.hostPath
}
