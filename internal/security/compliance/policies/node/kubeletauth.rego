package vigil.controls.kubelet_settings

metadata := {
	"id": "VGL-NODE-003",
	"title": "The kubelet must authenticate and authorize every request",
	"severity": "critical",
	"rationale": "An anonymous or AlwaysAllow kubelet API lets anyone on the network exec into pods and read their secrets.",
	"remediation": "In the kubelet configuration set authentication.anonymous.enabled: false, authentication.x509.clientCAFile, authorization.mode: Webhook and readOnlyPort: 0, then restart the kubelet.",
	"targets": ["node"],
	"cis": ["4.2.1", "4.2.2", "4.2.3", "4.2.4"],
	"nsa": ["Authentication and authorization: authentication"],
	"pss": "",
}

deny contains {"msg": "kubelet allows anonymous requests", "path": input.kubelet.sources.anonymousAuth} if input.kubelet.anonymousAuth == true

deny contains {"msg": "kubelet authorization mode is AlwaysAllow", "path": input.kubelet.sources.authorizationMode} if input.kubelet.authorizationMode == "AlwaysAllow"

deny contains {"msg": "kubelet has no client CA file", "path": input.kubelet.sources.clientCAFile} if input.kubelet.clientCAFile == ""

deny contains {"msg": sprintf("kubelet serves the unauthenticated read-only port %d", [input.kubelet.readOnlyPort]), "path": input.kubelet.sources.readOnlyPort} if input.kubelet.readOnlyPort != 0
