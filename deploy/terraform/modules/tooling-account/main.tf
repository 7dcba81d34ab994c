locals {
  # IAM condition keys are the issuer URL without its scheme:
  # token.actions.githubusercontent.com:aud, gitlab.com:sub, ...
  issuer_host = trimprefix(var.issuer_url, "https://")

  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.this[0].arn : var.oidc_provider_arn
}

resource "aws_iam_openid_connect_provider" "this" {
  count = var.create_oidc_provider ? 1 : 0

  url             = var.issuer_url
  client_id_list  = var.client_ids
  thumbprint_list = length(var.thumbprints) > 0 ? var.thumbprints : null
  tags            = var.tags
}

# Hop 1: the broker calls sts:AssumeRoleWithWebIdentity with the caller's
# token. The trust pins the audience and, per repository, the subject.
resource "aws_iam_role" "this" {
  name                 = var.role_name
  path                 = var.role_path
  max_session_duration = var.max_session_duration
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "BrokerWebIdentity"
      Effect    = "Allow"
      Principal = { Federated = local.oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = { "${local.issuer_host}:aud" = var.client_ids }
        StringLike   = { "${local.issuer_host}:sub" = var.allowed_subjects }
      }
    }]
  })

  lifecycle {
    precondition {
      condition     = var.create_oidc_provider || var.oidc_provider_arn != null
      error_message = "Set oidc_provider_arn when create_oidc_provider is false."
    }
  }
}

# The role may do nothing but assume the target roles (hop 2). TagSession and
# SetSourceIdentity let the broker profile's session_tags and source_identity
# through; the target role's trust must allow them too (target-account does).
resource "aws_iam_role_policy" "assume_targets" {
  name = "assume-target-roles"
  role = aws_iam_role.this.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "AssumeTargetRoles"
      Effect   = "Allow"
      Action   = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
      Resource = var.target_role_arns
    }]
  })
}
