/** Fields the flow-log isolation audit cannot work without. */
export const FLOW_LOG_REQUIRED_FIELDS = [
  'interface-id', 'action', 'tcp-flags', 'pkt-srcaddr', 'pkt-dstaddr', 'pkt-dst-aws-service', 'flow-direction', 'traffic-path',
] as const
