output "role_arn" {
  description = "ARN of the target role: the broker profile's last chain[].role_arn."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the target role."
  value       = aws_iam_role.this.name
}

output "external_id" {
  description = "The ExternalId the trust policy requires. Give it to the broker only (external_id: $${env:VAR} or external_id_file), never to callers."
  value       = local.external_id
  sensitive   = true
}
