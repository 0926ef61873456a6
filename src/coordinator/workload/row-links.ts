// Links between rows, shared by QuantumRows (the graph's links) and
// RowLocality (input files): in a module of their own so neither of the two
// imports the other's types.

/** Links as compressed sparse rows: those of row r are rows[start[r] .. start[r + 1]). */
export interface Links {
  start: Int32Array;
  rows: Int32Array;
}
