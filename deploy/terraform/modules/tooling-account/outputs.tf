output "role_arn" {
  description = "ARN of the web-identity role: the broker profile's chain[0].role_arn, and the principal the target roles trust."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the web-identity role."
  value       = aws_iam_role.this.name
}

output "oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider the role trusts."
  value       = local.oidc_provider_arn
}
