/** Links as compressed sparse rows: those of row r are rows[start[r] .. start[r + 1]). */
export interface Links {
  start: Int32Array;
  rows: Int32Array;
}
