/** The one place the server gets its parser from: engine/dockerfile (never a parser of its own). */
export { parse } from '../engine/dockerfile/index';
