/**
 * Installs the explainer into VerifierError (errors.ts cannot import upwards). Importing this
 * module costs only its module graph: the catalogue's patterns are compiled on the first
 * rejection explained.
 */
import { setVerifierExplainer } from "../errors.js";
import { explainVerifierLog } from "./explain.js";

setVerifierExplainer((log, context) => explainVerifierLog(log, context));
