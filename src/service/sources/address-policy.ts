import {isIP} from 'node:net'

/**
 * Which addresses the http source may connect to: only globally routable ones (IANA's special-purpose
 * address registries, "Globally Reachable: False" refused). IPv6 addresses that carry an IPv4 address
 * (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) are judged by the IPv4 address they lead to.
 * Addresses come here already parsed: by the WHATWG URL parser (which turns decimal, octal, hex and
 * short IPv4 forms and a trailing dot into dotted quads) or by the resolver.
 */

type Range = [network: number, prefix: number, name: string]
const ip4 = (text: string) => text.split('.').reduce((value, part) => value * 256 + Number(part), 0)

const IPV4_NOT_GLOBAL: Range[] = (
  [
    ['0.0.0.0', 8, 'this network'],
    ['10.0.0.0', 8, 'private'],
    ['100.64.0.0', 10, 'shared address space (carrier-grade NAT)'],
    ['127.0.0.0', 8, 'loopback'],
    ['169.254.0.0', 16, 'link-local (instance metadata)'],
    ['172.16.0.0', 12, 'private'],
    ['192.0.0.0', 24, 'IETF protocol assignments'],
    ['192.0.2.0', 24, 'documentation'],
    ['192.88.99.0', 24, '6to4 relay anycast'],
    ['192.168.0.0', 16, 'private'],
    ['198.18.0.0', 15, 'benchmarking'],
    ['198.51.100.0', 24, 'documentation'],
    ['203.0.113.0', 24, 'documentation'],
    ['224.0.0.0', 4, 'multicast'],
    ['240.0.0.0', 4, 'reserved and broadcast'],
  ] as const
).map(([network, prefix, name]) => [ip4(network), prefix, name])

function ipv4Reason(value: number): string | undefined {
  for (const [network, prefix, name] of IPV4_NOT_GLOBAL) {
    const size = 2 ** (32 - prefix)
    if (Math.floor(value / size) === Math.floor(network / size)) return name
  }
  return undefined
}

/** The 16 bytes of an IPv6 address in any textual form (compressed, with a dotted IPv4 tail, zone id). */
export function ipv6Bytes(text: string): number[] {
  let address = text.replace(/%.*$/, '').toLowerCase()
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(address)
  if (tail) {
    const v4 = ip4(tail[1])
    address = `${address.slice(0, -tail[1].length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`
  }
  const [head, rest] = address.includes('::') ? address.split('::') : [address, undefined]
  const headGroups = head ? head.split(':') : []
  const restGroups = rest ? rest.split(':') : []
  const missing = 8 - headGroups.length - restGroups.length
  const groups = rest === undefined ? headGroups : [...headGroups, ...Array(missing).fill('0'), ...restGroups]
  return groups.flatMap((group) => {
    const value = parseInt(group, 16)
    return [value >> 8, value & 0xff]
  })
}

const v4At = (bytes: number[], at: number) => ((bytes[at] << 24) >>> 0) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3]
const dotted = (value: number) => [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.')
const startsWith = (bytes: number[], prefix: number[]) => prefix.every((byte, index) => bytes[index] === byte)

function ipv6Reason(bytes: number[]): string | undefined {
  const zeros = (count: number) => bytes.slice(0, count).every((byte) => byte === 0)
  const embedded = (kind: string, value: number) => {
    const reason = ipv4Reason(value)
    return reason ? `${kind} of ${dotted(value)}, ${reason}` : undefined
  }
  if (zeros(16)) return 'unspecified'
  if (zeros(15) && bytes[15] === 1) return 'loopback'
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated): the kernel routes them to the IPv4 address.
  if (zeros(10) && bytes[10] === 0xff && bytes[11] === 0xff) return embedded('IPv4-mapped', v4At(bytes, 12))
  if (zeros(12)) return embedded('IPv4-compatible', v4At(bytes, 12)) ?? 'IPv4-compatible (deprecated)'
  // ::ffff:0:a.b.c.d (SIIT translated addresses).
  if (zeros(8) && bytes[8] === 0xff && bytes[9] === 0xff && bytes[10] === 0 && bytes[11] === 0) return 'IPv4-translated'
  // 64:ff9b::/96, the well-known NAT64 prefix: a gateway forwards to the embedded IPv4 address.
  if (startsWith(bytes, [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0])) return embedded('NAT64', v4At(bytes, 12))
  // 64:ff9b:1::/48, local-use NAT64 (RFC 8215): not globally reachable at all.
  if (startsWith(bytes, [0, 0x64, 0xff, 0x9b, 0, 1])) return 'local-use NAT64'
  if (startsWith(bytes, [0x01, 0, 0, 0, 0, 0, 0, 0])) return 'discard-only'
  // 2001::/32 Teredo tunnels to the client's IPv4 address (stored inverted); refused whole, like the
  // rest of 2001::/23 (IETF protocol assignments), whatever address it embeds.
  if (startsWith(bytes, [0x20, 0x01, 0, 0])) return embedded('Teredo client', ~v4At(bytes, 12) >>> 0) ?? embedded('Teredo server', v4At(bytes, 4)) ?? 'Teredo'
  if (bytes[0] === 0x20 && bytes[1] === 0x01 && bytes[2] < 2) return 'IETF protocol assignments'
  if (startsWith(bytes, [0x20, 0x01, 0x0d, 0xb8])) return 'documentation'
  if (bytes[0] === 0x3f && bytes[1] === 0xff && bytes[2] >> 4 === 0) return 'documentation'
  // 2002::/16, 6to4: bytes 2-5 are the IPv4 address the packet is tunnelled to.
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return embedded('6to4', v4At(bytes, 2))
  // Global unicast is 2000::/3; the rest (unique local fc00::/7, link-local fe80::/10, multicast ff00::/8,
  // site-local, reserved, SRv6 5f00::/16) is not reachable on the internet.
  if (bytes[0] >> 5 !== 1) {
    if ((bytes[0] & 0xfe) === 0xfc) return 'unique local (private)'
    if (bytes[0] === 0xfe && (bytes[1] & 0xc0) === 0x80) return 'link-local'
    if (bytes[0] === 0xff) return 'multicast'
    return 'not global unicast'
  }
  return undefined
}

/** Why an address may not be reached (e.g. "loopback", "IPv4-mapped of 127.0.0.1, loopback"), or undefined when it is global. */
export function forbiddenReason(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '')
  const family = isIP(bare.replace(/%.*$/, ''))
  if (family === 4) return ipv4Reason(ip4(bare))
  if (family === 6) return ipv6Reason(ipv6Bytes(bare))
  return 'not an IP address'
}

export function isForbiddenAddress(address: string): boolean {
  return forbiddenReason(address) !== undefined
}
