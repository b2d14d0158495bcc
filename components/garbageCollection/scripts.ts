import * as fs from "fs";
import * as path from "path";

/*
 * The two scripts of the garbage-collection job, plain POSIX sh that the tests also run directly. The CronJob holds
 * their text (`sh -c`), so a change of a script is a change of the CronJob; no value of the user's is in them.
 */

const scriptsDirectory = path.join(__dirname, "scripts");

/** The first container's: the registry read-only around the collection, writable again whatever happened. */
export const readOnlyWindowScript = fs.readFileSync(path.join(scriptsDirectory, "readOnlyWindow.sh"), "utf8");

/** The second container's: `registry garbage-collect` once every replica refuses writes, and what it freed. */
export const collectGarbageScript = fs.readFileSync(path.join(scriptsDirectory, "collectGarbage.sh"), "utf8");
