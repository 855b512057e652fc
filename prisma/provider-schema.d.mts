export declare const SQLITE_CLIENT_OUTPUT: string;
export declare const POSTGRES_CLIENT_OUTPUT: string;
export declare function postgresSchema(sqliteSchema: string, output?: string): string;
