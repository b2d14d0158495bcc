import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

const repo = path.join(__dirname, "..", "..");

/** A property of an interface in args.ts, as written. */
export interface Declared {
    optional: boolean;
    type: ts.TypeNode;
    doc: string;
}

/** The interfaces of args.ts, read from the syntax tree (no type checker, so not the schema analyzer's logic). */
export function declaredInterfaces(): Map<string, Map<string, Declared>> {
    const file = path.join(repo, "components", "args.ts");
    const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
    const interfaces = new Map<string, Map<string, Declared>>();
    source.forEachChild(node => {
        if (!ts.isInterfaceDeclaration(node)) {
            return;
        }
        const props = new Map<string, Declared>();
        for (const m of node.members) {
            if (ts.isPropertySignature(m) && m.type) {
                const doc = ts
                    .getJSDocCommentsAndTags(m)
                    .map(d => ts.getTextOfJSDocComment((d as ts.JSDoc).comment) ?? "")
                    .join("\n");
                props.set(m.name.getText(source), { optional: !!m.questionToken, type: m.type, doc });
            }
        }
        interfaces.set(node.name.text, props);
    });
    return interfaces;
}

/** The name a type refers to, through pulumi.Input<...> and arrays: "StorageArgs", "TlsMode", "string"... */
export function referencedName(node: ts.TypeNode): string {
    if (ts.isTypeReferenceNode(node)) {
        const name = node.typeName.getText();
        return name === "pulumi.Input" ? referencedName(node.typeArguments![0]) : name;
    }
    if (ts.isArrayTypeNode(node)) {
        return referencedName(node.elementType);
    }
    return node.getText();
}
