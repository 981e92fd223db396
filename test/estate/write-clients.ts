// Child process for writer tests: adds clients <prefix>-0..n-1 to the estate file, one write each.
import {setClientFields, updateEstateFile} from '../../src/estate/writer.js'

const [file, prefix, count, firstOctet] = process.argv.slice(2)
for (let index = 0; index < Number(count); index++) {
  await updateEstateFile(file, (doc) =>
    setClientFields(doc, `${prefix}-${index}`, {accountId: `${firstOctet.padStart(3, '0')}${String(index).padStart(9, '0')}`, vpcCidr: `10.${firstOctet}.${index * 16}.0/20`}),
  )
}
