// Writes synthetic VPC flow log files (S3 delivery format: header line, gzip) for benchmarks.
import {createWriteStream} from 'node:fs'
import {createGzip} from 'node:zlib'

export const FIELDS = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path'

/** A deterministic pseudo-random stream of realistic records: workloads, a NAT, rejects, SSH probes. */
export function writeFlowLogFile(file, records, seed = 1) {
  let state = seed >>> 0 || 1
  const rand = (n) => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) % n
  }
  const gzip = createGzip({level: 6})
  const out = createWriteStream(file)
  gzip.pipe(out)
  const lines = [FIELDS]
  const t0 = 1764547200
  for (let i = 0; i < records; i++) {
    const kind = rand(100)
    const start = t0 + Math.floor(i / 50)
    const eni = `eni-0${(rand(40) + 100).toString(16)}aa`
    const a = `10.1.${rand(64)}.${rand(250) + 2}`
    const b = `10.1.${64 + rand(64)}.${rand(250) + 2}`
    const sport = 1024 + rand(60000)
    let line
    if (kind < 70) line = `5 111111111111 ${eni} ${a} ${b} ${sport} 443 6 ${1 + rand(40)} ${100 + rand(90000)} ${start} ${start + 60} ACCEPT OK vpc-01 subnet-01 i-0${rand(9000)} 2 IPv4 ${a} ${b} eu-west-1 euw1-az1 - - - - egress 1`
    else if (kind < 85) line = `5 111111111111 eni-0nat000 10.1.224.10 52.${rand(250)}.${rand(250)}.${rand(250)} ${sport} 443 6 ${1 + rand(40)} ${100 + rand(90000)} ${start} ${start + 60} ACCEPT OK vpc-01 subnet-nat - 3 IPv4 ${a} 52.1.2.3 eu-west-1 euw1-az1 - - - ${rand(10) === 0 ? 'AMAZON' : '-'} egress 8`
    else if (kind < 97) line = `5 111111111111 ${eni} 198.51.100.${rand(250)} ${a} ${sport} ${[22, 3389, 23, 445][rand(4)]} 6 1 40 ${start} ${start + 60} REJECT OK vpc-01 subnet-01 i-0${rand(9000)} 2 IPv4 198.51.100.9 ${a} eu-west-1 euw1-az1 - - - - ingress -`
    else if (kind < 99) line = `5 111111111111 ${eni} - - - - - - - ${start} ${start + 60} - NODATA - - - - - - - - - - - - - - -`
    else line = `5 111111111111 ${eni} ${a} ${b} ${sport} 53 17 1 80 ${start} ${start + 60} ACCEPT OK vpc-01 subnet-01 - 0 IPv4 ${a} ${b} eu-west-1 euw1-az1 - - - - egress 1`
    lines.push(line)
    if (lines.length >= 2000) {
      gzip.write(`${lines.join('\n')}\n`)
      lines.length = 0
    }
  }
  gzip.end(lines.length ? `${lines.join('\n')}\n` : '')
  return new Promise((resolve, reject) => {
    out.on('finish', resolve)
    out.on('error', reject)
  })
}
