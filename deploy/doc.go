// Package deploy holds no code of the broker. Its tests check what ships
// beside the daemon: the Terraform for the AWS side (policies parse, every
// web-identity trust pins aud and sub, every cross-account trust requires an
// ExternalId, formatting is canonical), the Kubernetes manifests (strictly
// typed, hardened), the systemd unit, the Dockerfile and the docs.
package deploy
