pub mod incolumitas;
pub mod rebrowser;
