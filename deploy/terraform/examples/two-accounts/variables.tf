variable "tooling_profile" {
  description = "AWS CLI profile with IAM rights in the tooling account."
  type        = string
  default     = "tooling"
}

variable "target_profile" {
  description = "AWS CLI profile with IAM rights in the target account."
  type        = string
  default     = "prod"
}

variable "region" {
  description = "Region of the providers (IAM is global; STS calls go to this region)."
  type        = string
  default     = "us-east-1"
}

variable "issuer_url" {
  description = "OIDC issuer of the callers' tokens."
  type        = string
  default     = "https://token.actions.githubusercontent.com"
}

variable "audience" {
  description = "Audience of the callers' tokens: the OIDC provider's client ID and the broker's issuers[].audiences."
  type        = string
  default     = "sts.amazonaws.com"
}

variable "allowed_subjects" {
  description = "sub patterns allowed through hop 1, one per repository and ref. Keep them in step with the broker profile's StringLike sub condition."
  type        = list(string)
  default     = ["repo:myorg/*:ref:refs/heads/main"]
}

variable "tooling_role_name" {
  description = "Name of the web-identity role in the tooling account."
  type        = string
  default     = "github-actions-oidc"
}

variable "target_role_name" {
  description = "Name of the deploy role in the target account."
  type        = string
  default     = "ci-deploy-role"
}

variable "target_policy_arns" {
  description = "Managed policies giving the deploy role its permissions."
  type        = list(string)
  default     = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
}

variable "profile_name" {
  description = "Name of the broker profile the broker_profile output describes."
  type        = string
  default     = "prod-deploy"
}
