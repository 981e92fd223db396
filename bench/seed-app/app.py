"""The seed's collection API as its own stack would serve it: FastAPI + uvicorn + SQLite.

The baseline of bench/service.js. Same routes, same bearer-token check (SHA-256 looked up in a
tokens table), same validation of the trigger body, and each accepted job committed durably
(WAL, synchronous=FULL) before the 202. Given its best footing: one connection on the event loop
(no thread pool hop), uvloop and httptools when installed.
"""
import hashlib
import json
import os
import sqlite3
import uuid
from datetime import datetime, timezone
from typing import Any, Literal, Optional

from fastapi import FastAPI, Header, HTTPException, Query
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

DB = os.environ.get("SEED_DB", "seed.db")
db = sqlite3.connect(DB, isolation_level=None, check_same_thread=False)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.executescript(
    """
CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, source_type TEXT NOT NULL, config TEXT NOT NULL,
  status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL, progress REAL NOT NULL DEFAULT 0,
  error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, result_path TEXT, token_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_at, id);
CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, revoked_at TEXT);
"""
)
if os.environ.get("SEED_TOKEN"):
    db.execute("INSERT OR IGNORE INTO tokens (id, name, hash) VALUES (?, 'bench', ?)", (str(uuid.uuid4()), hashlib.sha256(os.environ["SEED_TOKEN"].encode()).hexdigest()))

app = FastAPI(title="seed collection service")


def authenticate(authorization: Optional[str]) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401, "a bearer token is required")
    row = db.execute("SELECT id FROM tokens WHERE hash = ? AND revoked_at IS NULL", (hashlib.sha256(authorization[7:].encode()).hexdigest(),)).fetchone()
    if not row:
        raise HTTPException(401, "the bearer token is not valid")
    return row[0]


class TriggerBody(BaseModel):
    source_type: Literal["database", "file", "http", "s3"]
    config: dict[str, Any]
    max_attempts: int = Field(3, ge=1, le=10)


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


def view(row) -> dict:
    keys = ["job_id", "source_type", "config", "status", "attempts", "max_attempts", "progress", "error", "created_at", "updated_at"]
    job = dict(zip(keys, row))
    job["config"] = json.loads(job["config"])
    return job


COLUMNS = "id, source_type, config, status, attempts, max_attempts, progress, error, created_at, updated_at"


@app.post("/api/v1/jobs/trigger", status_code=202)
async def trigger(body: TriggerBody, authorization: Optional[str] = Header(None)):
    token_id = authenticate(authorization)
    job_id = str(uuid.uuid4())
    stamp = now()
    # Autocommit: the INSERT is durable (fsync) when execute returns, before the 202.
    db.execute(
        "INSERT INTO jobs (id, source_type, config, status, max_attempts, created_at, updated_at, token_id) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)",
        (job_id, body.source_type, json.dumps(body.config), body.max_attempts, stamp, stamp, token_id),
    )
    return {"job_id": job_id, "status": "queued", "created": True}


@app.get("/api/v1/jobs/status/{job_id}")
async def status(job_id: str, authorization: Optional[str] = Header(None)):
    authenticate(authorization)
    row = db.execute(f"SELECT {COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if not row:
        raise HTTPException(404, f"no job {job_id}")
    return view(row)


@app.get("/api/v1/jobs/result/{job_id}")
async def result(job_id: str, authorization: Optional[str] = Header(None)):
    authenticate(authorization)
    row = db.execute("SELECT status, result_path FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if not row:
        raise HTTPException(404, f"no job {job_id}")
    if row[0] != "succeeded" or not row[1]:
        raise HTTPException(409, f"job {job_id} is {row[0]}")
    return FileResponse(row[1])


@app.get("/api/v1/jobs")
async def jobs(authorization: Optional[str] = Header(None), limit: int = Query(50, ge=1, le=500), status: Optional[str] = None):
    authenticate(authorization)
    if status:
        rows = db.execute(f"SELECT {COLUMNS} FROM jobs WHERE status = ? ORDER BY created_at DESC LIMIT ?", (status, limit)).fetchall()
    else:
        rows = db.execute(f"SELECT {COLUMNS} FROM jobs ORDER BY created_at DESC LIMIT ?", (limit,)).fetchall()
    return {"jobs": [view(row) for row in rows]}


@app.get("/health")
async def health():
    try:
        db.execute("SELECT 1").fetchone()
        return {"status": "ok"}
    except sqlite3.Error as error:
        return JSONResponse({"status": "unhealthy", "error": str(error)}, status_code=503)
