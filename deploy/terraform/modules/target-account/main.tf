# Generated unless var.external_id is set; created either way so that count
# never depends on a sensitive value.
resource "random_password" "external_id" {
  length  = var.external_id_length
  special = false
}

locals {
  external_id = var.external_id != null ? var.external_id : random_password.external_id.result
}

# The last hop: the broker calls sts:AssumeRole signed with the tooling
# role's session and passes the ExternalId. Only that role, and only with
# the ExternalId, may assume this one. TagSession and SetSourceIdentity are
# trusted under the same condition for the profile's session_tags and
# source_identity.
resource "aws_iam_role" "this" {
  name                 = var.role_name
  path                 = var.role_path
  max_session_duration = var.max_session_duration
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "BrokerChainedAssumeRole"
      Effect    = "Allow"
      Principal = { AWS = var.trusted_role_arns }
      Action    = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
      Condition = {
        StringEquals = { "sts:ExternalId" = local.external_id }
      }
    }]
  })
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = toset(var.policy_arns)

  role       = aws_iam_role.this.name
  policy_arn = each.value
}

resource "aws_iam_role_policy" "inline" {
  count = var.inline_policy == null ? 0 : 1

  name   = "${var.role_name}-inline"
  role   = aws_iam_role.this.id
  policy = var.inline_policy
}
