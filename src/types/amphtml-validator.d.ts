declare module 'amphtml-validator' {
  namespace amphtmlValidator {
    interface ValidationError {
      severity: string;
      line: number;
      col: number;
      message: string;
      specUrl: string | null;
      code: string;
      params: string[];
    }
    interface ValidationResult {
      status: string;
      errors: ValidationError[];
    }
    interface Validator {
      validateString(html: string, format?: string): ValidationResult;
    }
    function getInstance(validatorJs?: string): Promise<Validator>;
  }
  export default amphtmlValidator;
}
