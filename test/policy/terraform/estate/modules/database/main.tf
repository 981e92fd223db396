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

# A graph database whose two instances are pinned to one AZ, and a document database whose two are
# not: INFRA_RDS_MULTI_AZ reads a cluster's instances through cluster_identifier, in the plan too.
resource "aws_neptune_cluster" "graph" {
  cluster_identifier                  = "${var.name}-graph"
  storage_encrypted                   = true
  backup_retention_period             = var.retention
  iam_database_authentication_enabled = true
  skip_final_snapshot                 = true
}

resource "aws_neptune_cluster_instance" "graph" {
  count              = 2
  cluster_identifier = aws_neptune_cluster.graph.id
  instance_class     = "db.r6g.large"
  availability_zone  = "eu-west-1a"
}

resource "aws_docdb_cluster" "documents" {
  cluster_identifier          = "${var.name}-documents"
  master_username             = "app"
  manage_master_user_password = true
  storage_encrypted           = true
  backup_retention_period     = 7
  skip_final_snapshot         = true
}

resource "aws_docdb_cluster_instance" "documents" {
  count              = 2
  cluster_identifier = aws_docdb_cluster.documents.id
  instance_class     = "db.r6g.large"
}
