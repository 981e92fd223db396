variable "name" {
  type = string
}

variable "retention" {
  type    = number
  default = 7
}

resource "aws_rds_cluster" "this" {
  cluster_identifier                  = var.name
  engine                              = "aurora-postgresql"
  master_username                     = "app"
  manage_master_user_password         = true
  storage_encrypted                   = true
  backup_retention_period             = var.retention
  iam_database_authentication_enabled = true
  skip_final_snapshot                 = true
}

resource "aws_rds_cluster_instance" "this" {
  count               = 2
  identifier          = "${var.name}-${count.index}"
  cluster_identifier  = aws_rds_cluster.this.id
  instance_class      = "db.r6g.large"
  engine              = aws_rds_cluster.this.engine
  publicly_accessible = count.index == 1
}

output "cluster_id" {
  value = aws_rds_cluster.this.id
}
